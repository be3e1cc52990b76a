"""Serve the demo city: the web app (waitress) and a Huey consumer beside it."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "在 http://127.0.0.1:8000 运行演示城市，并启动后台任务消费者 (Huey)。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true", help="do not start the Huey consumer")

    def handle(self, *args: Any, **options: Any) -> None:
        from waitress import serve

        from demo.services import demo_accounts_text
        from minhu.wsgi import application

        self.stdout.write(demo_accounts_text())
        consumer: subprocess.Popen[bytes] | None = None
        if not options["no_worker"]:
            manage = Path(settings.BASE_DIR) / "manage.py"
            consumer = subprocess.Popen([sys.executable, str(manage), "run_huey"])  # noqa: S603
            self.stdout.write(f"任务消费者已启动 (Huey, pid {consumer.pid})")

        def stop(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        url = f"http://{options['host']}:{options['port']}/"
        self.stdout.write(self.style.SUCCESS(f"民呼演示城市: {url}  (管理后台 {url}admin/)"))
        try:
            serve(application, host=options["host"], port=options["port"], threads=8, _quiet=True)
        except KeyboardInterrupt:
            pass
        finally:
            if consumer is not None:
                consumer.terminate()
                try:
                    consumer.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    consumer.kill()
