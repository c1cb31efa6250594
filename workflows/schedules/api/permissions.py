"""Who may use ``/api/schedules/``: the runs API's rule, with the schedule model's perms.

Staff sessions read with any staff account and need ``schedules.add_schedule`` to create,
``schedules.change_schedule`` to pause or resume, ``schedules.delete_schedule`` to delete;
an API key sees and manages the schedules of its capabilities (others are 404).
"""

from __future__ import annotations

from workflows.api.permissions import StaffOrApiKeyPermission


class SchedulesApiPermission(StaffOrApiKeyPermission):
    message = "The schedules API needs an API key or a staff session"
    action_permissions = {
        "create": "schedules.add_schedule",
        "pause": "schedules.change_schedule",
        "resume": "schedules.change_schedule",
        "destroy": "schedules.delete_schedule",
    }
