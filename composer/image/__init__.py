"""composer.image: the local image store.

- ``reference``: image references parsed and normalised as Docker does;
- ``layout``: the OCI image layout on disk (blobs, index.json, its lock);
- ``ingest``: reading plain or compressed tar streams, hashing them;
- ``unpack``: safe unpacking of a layer into a snapshot directory;
- ``changes``: Dockerfile instructions applied to an image config;
- ``store``: ``ImageStore``, what the engine and the CLI call;
- ``model``: ``Image``, ``ImageConfig``, ``ImageSummary``, ``RemoveResult``.
"""
