"""The inspector app: ``streamlit run app.py -- LOGDIR`` (or ``infomorph view LOGDIR``)."""

from inspector.app.main import main

main()
