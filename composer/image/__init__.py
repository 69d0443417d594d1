"""composer.image: the local image store, the builder, archives and registries.

- ``reference``: image references parsed and normalised as Docker does;
- ``layout``: the OCI image layout on disk (blobs, index.json, its lock);
- ``ingest``: reading plain or compressed (gzip, bzip2, xz, zstd) tar streams, hashing them;
- ``unpack``: safe unpacking of a layer into a snapshot directory;
- ``changes``: Dockerfile instructions applied to an image config, word expansion;
- ``store``: ``ImageStore``, what the engine and the CLI call;
- ``model``: ``Image``, ``ImageConfig``, ``ImageSummary``, ``RemoveResult``;
- ``archive``: ``save``/``load`` of Docker and OCI archives;
- ``dockerfile``, ``builder``, ``buildinstr``, ``buildexec``, ``buildcopy``,
  ``buildrun``, ``context``, ``layers``: the Dockerfile builder (see docs/images.md);
- ``registry``, ``distribution``, ``auth``: the OCI distribution client.
"""
