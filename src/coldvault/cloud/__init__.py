"""The cloud deployment: CloudFormation template, state machine, Lambda handlers, packaging."""
