"""Sign-in for every page (GENLENS_AUTH), the signed-in role, and the sidebar's account line."""

from __future__ import annotations

import streamlit as st

import access
from access import AuthError, Principal
from queries import masking
from ui.format import md_escape

_KEY = "gl_principal"


def _sign_in_form(mode: str) -> None:
    st.title("GenLens")
    st.subheader("Sign in")
    if mode == "oidc":
        st.caption("Sign in with your organisation's account.")
        if st.button("Sign in", icon=":material/login:", type="primary"):
            st.login()
        return
    with st.form("gl_sign_in"):
        email = st.text_input("Email", max_chars=254) if mode == "supabase" else None
        password = st.text_input("Password", type="password", max_chars=256)
        if st.form_submit_button("Sign in", type="primary", icon=":material/login:"):
            try:
                st.session_state[_KEY] = (
                    access.supabase_sign_in(email or "", password)
                    if mode == "supabase"
                    else access.password_sign_in(password)
                )
            except AuthError as exc:
                st.error(str(exc), icon=":material/lock:")
            else:
                st.rerun()


def _only_page(draw) -> None:
    """Draw `draw` as the app's only page and stop: before sign-in nobody sees the page list
    (without st.navigation, Streamlit would list the pages/ folder in the sidebar)."""
    st.navigation([st.Page(draw, title="Sign in", url_path="sign-in", default=True)], position="hidden").run()
    st.stop()


def _oidc_principal() -> Principal | None:
    if not st.user.is_logged_in:
        return None
    try:
        return access.oidc_principal(dict(st.user.to_dict()))
    except AuthError as exc:
        message = str(exc)  # may quote the email claim: escaped, never rendered as Markdown

        def refused() -> None:
            st.title("GenLens")
            st.error(md_escape(message), icon=":material/block:")
            if st.button("Sign out", icon=":material/logout:"):
                st.logout()

        _only_page(refused)


def principal() -> Principal:
    """The signed-in principal; draws the sign-in page and stops the run when nobody is."""
    mode = access.mode()
    if mode == "none":
        who = access.anonymous()
    elif mode == "oidc":
        who = _oidc_principal()
    else:
        who = st.session_state.get(_KEY)
    if who is None:
        _only_page(lambda: _sign_in_form(mode))
    st.session_state[_KEY] = who
    # Viewers always see masked data; everyone does with GENLENS_MASK=1. Set for this run.
    masking.set_policy(masking.policy_from_settings(who.role == "viewer" or access.masking_forced()))
    return who


def current() -> Principal:
    """The principal app.py signed in for this run (pages call this)."""
    return st.session_state.get(_KEY) or access.anonymous()


def account_line(who: Principal, embedded: bool) -> None:
    sb = st.sidebar
    if who.method == "none":
        text = "anyone who can reach this address sees every page and prompt (GENLENS_AUTH=none)."
        if embedded:
            sb.caption(f":material/lock_open: Open access: {text}")
        else:
            # Louder on a real database: red, bold, and what to do about it.
            sb.markdown(
                f":red[:material/lock_open: **Open access to a real database**]: {text} "
                "Set GENLENS_AUTH before sharing this link (README, Sign-in and roles)."
            )
        return
    sb.caption(f":material/person: Signed in as **{md_escape(who.name)}** · {who.role}")
    if sb.button("Sign out", icon=":material/logout:"):
        st.session_state.pop(_KEY, None)
        if who.method == "oidc":
            st.logout()  # redirects to the provider's sign-out; a rerun here could cut that message off
            st.stop()
        st.rerun()
