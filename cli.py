"""Run nps-id from a checkout without installing it: ``python cli.py match run.mzML``."""
from nps_id.cli import main

if __name__ == "__main__":
    main()
