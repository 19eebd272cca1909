"""Configuration, the database engine, migrations, the embedded PostgreSQL and demo data.

Nothing in this package draws on a page: pages reach the database through `queries/`.

Its modules import only modules listed before them: `sources`, `config`, `connection` (URLs, the
engine, transactions), `schema` (migrations), `facts` (GenLens' derived tables), `demo` and
`source_demo` (demo rows), `embedded`, `bootstrap` (preparing the embedded server), `engine`
(`get_database`, re-exporting `connection`'s names), then `audit` and the commands `migrate`,
`refresh` and `demo_data`.
"""
