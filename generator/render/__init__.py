"""Rendering, isolated: the blueprints rendered into a staging tree, compared with the output, swapped in.

Modules, one concern each: :mod:`.targets` (which trees, from which blueprint), :mod:`.staging` (render
into a staging folder, fmt-check), :mod:`.diff` (what differs from the output), :mod:`.lock` (one generate
per output), :mod:`.swap` (crash-safe replacement), :mod:`.manifest` (which files are bbws-gen's),
:mod:`.destinations` (refuse unsafe folders), :mod:`.pipeline` (the steps in order), :mod:`.output_cache`
(the whole answer kept by the hash of every input, as checked copies), :mod:`.compile_store` (compiled
templates), :mod:`.cache_paths` (where the caches are and what every key includes) and
:mod:`.copier_adapter`, the one module that touches Copier's or Jinja's private API. Importing this
package imports nothing heavy.
"""
