"""Streamlit pieces shared by the pages: sidebar filters in the URL, cached queries, formatting,
the database error panel. Pages import from here and from `queries/`, never SQLAlchemy."""
