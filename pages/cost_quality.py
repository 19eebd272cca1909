"""Placeholder: being built (issue 4)."""

import streamlit as st

st.title("cost_quality")
st.info("This page is being built.")
