"""The `live` process: `uvicorn live.asgi:application` serves the stream paths only (Procfile).

It raises its own open-file limit to the hard limit (one socket per stream; docs/DEPLOYMENT.md).
"""

import os
import resource

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "savegame.settings")


def raise_open_files_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


raise_open_files_limit()
django.setup()

from live.app import build  # noqa: E402

application = build()
