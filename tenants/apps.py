from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Organizations"

    def ready(self):
        from celery.signals import task_postrun

        task_postrun.connect(_worker_schema_visited, weak=False, dispatch_uid="tenants.visits")


def _worker_schema_visited(sender=None, task=None, kwargs=None, **extra):
    """A worker's connection is closed after TENANT_SCHEMAS_PER_CONNECTION distinct tenant schemas
    (tenants/visits.py); CELERY_DB_REUSE_MAX counts tasks, this counts schemas."""
    from tenant_schemas_celery.app import get_schema_name_from_task

    from tenants.visits import schema_visit_count

    if task is None:
        return
    schema = get_schema_name_from_task(task, kwargs or {})
    if schema:
        schema_visit_count(schema_name=schema)
