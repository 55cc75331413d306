"""Who may do what in the library (``user.has_perm("library.…", obj)``)."""

from __future__ import annotations

import rules

from apps.accounts.rules import is_coe_staff, is_signed_in

# Everyone signed in reads templates and their published (and deprecated) versions.
rules.add_perm("library.view_template", is_signed_in)
# Drafts and versions in review are the CoE's until published.
rules.add_perm("library.view_draft_versions", is_coe_staff)
rules.add_perm("library.add_template", is_coe_staff)
rules.add_perm("library.change_template", is_coe_staff)
rules.add_perm("library.add_templateversion", is_coe_staff)
rules.add_perm("library.publish_templateversion", is_coe_staff)
