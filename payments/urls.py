"""payments pages on the organization host."""

urlpatterns: list = []
