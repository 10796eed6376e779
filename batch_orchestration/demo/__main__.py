"""``python -m batch_orchestration.demo ROOT``: write a demo-size export and print its summary."""

from batch_orchestration.demo.generate import main

main()
