"""The PostgreSQL backend: django-tenants' (search_path per schema) that skips a redundant
`SET search_path` (savegame/db/base.py)."""
