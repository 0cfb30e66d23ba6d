"""Route modules; each defines ``router`` (a FastAPI ``APIRouter``), included by the app."""
