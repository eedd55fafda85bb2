"""Fault injection against the site under production settings (`scripts/faults.py`).

The run starts its own PostgreSQL cluster, Redis and gunicorn on free loopback ports, and
nginx in front of gunicorn as in production when nginx is installed, drives mixed member and
staff traffic, breaks the database and the cache one way after another, and checks through
the models that nothing a member was told had been saved was lost. `report` holds the pure parts (classification, verification, the table).
"""
