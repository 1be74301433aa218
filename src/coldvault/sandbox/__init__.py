"""coldvault's offline AWS: moto plus the AWS APIs moto lacks (Backup recovery points and jobs,
EC2 store/restore image tasks), virtual time, fault injection, fleet seeding and the demo.

Only this package imports moto; nothing outside it depends on it, so production Lambda packages
do not carry it.
"""
