"""An image's real type, read from its bytes by Pillow (never from the file name a user chose).

A logo uploaded as `logo.pdf` (or `x.html`) was served with the type its name suggested. The type
is sniffed when the logo is stored (the stored name gets the matching extension) and again when it
is served, with `X-Content-Type-Options: nosniff` so browsers do not guess either.
"""

from __future__ import annotations

import io

IMAGE_TYPES = {  # Pillow format -> (MIME type, extension)
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
}


def image_format(data: bytes) -> str | None:
    """The Pillow format name of `data` if it is one of IMAGE_TYPES, else None."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
    return fmt if fmt in IMAGE_TYPES else None


def image_mime(data: bytes) -> str | None:
    fmt = image_format(data)
    return IMAGE_TYPES[fmt][0] if fmt else None


def image_extension(fmt: str) -> str:
    return IMAGE_TYPES[fmt][1]
