"""``python -m nps_id`` runs the command line."""
from nps_id.cli import main

main()
