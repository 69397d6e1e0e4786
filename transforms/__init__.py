"""Curation steps: pure functions over plain values, each with a thin Beam wrapper beside it."""
