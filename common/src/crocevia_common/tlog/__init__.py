"""Transparency-log formats every party checks: RFC 9162 Merkle trees and proofs, C2SP
signed notes, checkpoints, witness cosignatures and the witness protocol's messages.

Pure code (no I/O) except :mod:`.witness_client`, the HTTP client of a witness.
"""
