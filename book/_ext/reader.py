"""Fixes to the HTML that Jupyter Book 1's theme stack writes, found by the browser tests.

- sphinx-thebe adds its inline configuration script once for every notebook page it meets, so a
  page could declare ``const THEBE_JS_URL`` twice and the browser stops the second script with a
  SyntaxError. Each script is kept once.
- pydata-sphinx-theme reads the colour mode from ``default_mode``, which Jupyter Book leaves empty,
  and logs "Got invalid theme mode" on every page for a reader who never chose one. It is set to
  ``auto`` (follow the system) for the page templates.
"""
from __future__ import annotations


def _each_script_once(app, pagename, templatename, context, doctree):
    if not context.get("default_mode"):
        context["default_mode"] = "auto"
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        # An inline script is its body (its filename may be None or ""); a file is its name.
        key = ("body", attributes["body"]) if attributes.get("body") else ("file", str(getattr(script, "filename", script)))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    scripts[:] = kept  # in place: handlers after this one (MathJax) still add to the same list


def setup(app):
    app.connect("html-page-context", _each_script_once, priority=100)  # early: a later handler may end the event
    return {"parallel_read_safe": True, "parallel_write_safe": True}
