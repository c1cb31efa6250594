"""The staff console: Django's admin as one ``AdminSite`` titled "RAWR HQ".

The site is host kit: it names no app module. Apps plug into it the way they plug into
the stock admin (``admin.py`` registrations), plus two hooks: ``site.register_view`` for
console pages that are not a model (the approvals inbox), and ``site.register_panel``
for what the dashboard shows.
"""
