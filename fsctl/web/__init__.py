"""The web UI behind ``fsctl ui``: a read-only, server-rendered browser of the registry (and,
when reachable, the state document), every page also as JSON under ``/api/``.

* :mod:`.model`: what the pages read: the project, a :class:`~fsctl.services.registry_cache.LiveRegistry`
  (re-read at most every two seconds) and the status service;
* :mod:`.pages`: one function per page: services in, a template name and JSON-ready data out;
* :mod:`.security`: response headers (CSP, nosniff, no referrer) and the Host allow-list;
* :mod:`.app`: the ASGI app: routes, templates (``templates/ui``), the one error boundary;
* :mod:`.runner`: ``fsctl ui``: start-up checks, binding, signals (shared with ``fsctl serve``).

It calls services and renderers only. FastAPI, uvicorn and jinja2 are imported when an app
is built.
"""
