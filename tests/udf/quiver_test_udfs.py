"""Vectorized Python UDFs that the UDF tests register by import name
(`quiver_test_udfs:NAME`); the tests put this folder on PYTHONPATH so every
process of a cluster imports the same functions from its own environment."""

import pyarrow as pa
import pyarrow.compute as pc


def add_tax(price, rate):
    return pc.multiply(price, pc.add(rate, 1))


def slug(text):
    return pc.replace_substring(pc.utf8_lower(text), " ", "-")


def wrong_length(x):
    return pa.array([1])


def fails(x):
    raise ValueError("bad input")
