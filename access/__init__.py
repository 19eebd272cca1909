"""Who may see what: sign-in modes (GENLENS_AUTH), roles and the pages each role may open.

Pure Python, no Streamlit: ui/access.py draws the sign-in, queries/masking.py hides personal data.
"""
