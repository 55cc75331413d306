"""The permission matrix's world (tests/test_permission_matrix.py), reused as these tests' fixture:
every app's objects, personas allowed and refused, and a valid body for every write."""

from tests.test_permission_matrix import world  # noqa: F401
