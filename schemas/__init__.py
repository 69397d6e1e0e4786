"""Kura's data contracts: Arrow schemas, value types and pydantic models.

Knows nothing of Beam or I/O.
"""
