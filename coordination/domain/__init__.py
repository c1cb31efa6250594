"""Pure rules of coordination workflows: no Django, no database.

``document`` checks a document's shape, ``validation`` its meaning (the original
``validateWorkflow``), ``graph`` walks desks and handoffs, ``conditions`` and ``mapping``
evaluate what a handoff carries, ``ids`` says which ids are safe.
"""
