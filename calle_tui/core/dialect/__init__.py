"""Reading what servers send (CALLE-DIALECT.md): `replies` turns raw tool results into our models; `status`,
`activity`, `transcript` and `values` are its parts. Nothing here does I/O, and nothing outside reads raw
replies. (This file imports nothing, so contract.py can use `status` without a cycle.)"""
