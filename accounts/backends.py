"""The session login's backend: Django's ModelBackend, with the user row of a logged-in page read
from accounts' cache (the same `user_cached` the API's JWT authentication uses), so a page costs no
user query. Every save or delete of a user drops the copy (accounts.signals), so a removed member,
a role change or a new password takes effect on the next request."""

from django.contrib.auth.backends import ModelBackend

from accounts.selectors import user_cached

SESSION_BACKEND = "accounts.backends.CachedModelBackend"  # what a session made by our logins names


class CachedModelBackend(ModelBackend):
    def get_user(self, user_id):
        try:
            user = user_cached(user_id=int(user_id))
        except (TypeError, ValueError):
            return None
        return user if user is not None and self.user_can_authenticate(user) else None
