"""A throwaway tenant app for bench/tenancy.py: one table, then one additive migration."""

from django.db import models


class Probe(models.Model):
    label = models.CharField(max_length=20)
    note = models.CharField(max_length=40, blank=True, default="")
