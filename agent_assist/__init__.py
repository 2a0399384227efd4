"""What agents and supervisors see: the JSON API, screen-pop, desk and dashboard."""
