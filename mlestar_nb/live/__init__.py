"""What a person watches while a run goes: resource samples, alerts and the live views."""
