"""A user row changed by any path (a service, Django admin, a login's last_login): forget accounts'
cached copy, so the API and the pages never authenticate from a stale row."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import User
from accounts.selectors import user_forget


@receiver(post_save, sender=User, dispatch_uid="accounts.user_saved_forget")
@receiver(post_delete, sender=User, dispatch_uid="accounts.user_deleted_forget")
def user_changed(sender, instance, **kwargs):
    user_forget(user_ids=[instance.pk])
