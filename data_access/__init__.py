"""Configuration, the database engine, migrations, the embedded PostgreSQL and demo data.

Nothing in this package draws on a page: pages reach the database through `queries/`.
"""
