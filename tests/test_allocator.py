"""The allocator settings every infomorph command applies."""

import ctypes
import platform
from types import SimpleNamespace

import pytest

from inspector import allocator


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_keeps_freed_memory():
    assert allocator.keep_freed_memory() is True
    assert allocator.keep_freed_memory() is True  # idempotent


def test_other_c_libraries_are_left_alone(monkeypatch):
    def no_library(name):
        raise OSError("no such library")

    monkeypatch.setattr(ctypes, "CDLL", no_library)
    assert allocator.keep_freed_memory.__wrapped__() is False
    monkeypatch.setattr(ctypes, "CDLL", lambda name: SimpleNamespace())  # no mallopt
    assert allocator.keep_freed_memory.__wrapped__() is False


def test_a_refused_setting_is_reported(monkeypatch):
    monkeypatch.setattr(ctypes, "CDLL", lambda name: SimpleNamespace(mallopt=_Refuse()))
    assert allocator.keep_freed_memory.__wrapped__() is False


class _Refuse:
    argtypes = restype = None

    def __call__(self, option, value):
        return 0
