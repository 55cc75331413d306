"""The two global roles, held as Django groups. Team roles live on Membership."""

COE_STAFF = "CoE staff"
LEADERSHIP = "Leadership"
GLOBAL_ROLES = (COE_STAFF, LEADERSHIP)
