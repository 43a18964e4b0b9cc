"""Lets the executor tests import their shared helpers (`_ops_testlib`,
`_hash_join_lib`) by name: pytest's importlib mode puts no test folder on
sys.path."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
