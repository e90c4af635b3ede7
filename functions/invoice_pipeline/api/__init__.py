"""The REST API of DESIGN.md ("API"): one Lambda behind API Gateway's HTTP API, on Powertools'
APIGatewayHttpResolver with request validation.

- `app.py`: the resolver, the authentication gate and the error responses;
- `routes.py`: the routes, thin over `adapters/queries.py` and `adapters/repository.py`;
- `models.py`: request and response models (they also generate schemas/openapi.json, see `openapi.py`);
- `auth.py`: who is calling, from the authorizer context API Gateway (or the local API server) put in the event;
- `cursor.py`: the opaque keyset cursor of GET /documents;
- `export.py`: CSV and XLSX exports."""
