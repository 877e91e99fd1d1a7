"""The Streamlit inspector: ``infomorph view LOGDIR`` or ``streamlit run app.py -- LOGDIR``.

Thin pages over ``inspector`` and ``storage`` functions and the shared chart builders. The
state of a page lives in its URL (``?page=&run=&layer=&neuron=&checkpoint=``), so every view
is a link that can be shared; nothing outside LOGDIR is ever read (see ``inspector.logdir``).
"""

from pathlib import Path

SCRIPT = Path(__file__).with_name("main.py")
"""The script Streamlit runs."""
