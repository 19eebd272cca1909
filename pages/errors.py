"""Placeholder: being built (issue 4)."""

import streamlit as st

st.title("errors")
st.info("This page is being built.")
