"""Signing, keys, trust and residency policy, the Merkle log, certification and audit."""
