"""Result types: what use cases return and renderers show, below both.

Each service returns one of these (or a :class:`~fsctl.diff.Plan`); each renderer in
:mod:`fsctl.render` takes exactly one of them; :func:`fsctl.render.render` picks the
renderer by result type and format, so no command chooses its own.

* :mod:`.browse`: ``ObjectList``, ``ObjectDetail``, ``History``, ``RegistryDocument``
* :mod:`.codeowners`: ``CodeOwners`` (of ``OwnerRule``)
* :mod:`.lineage`: ``Lineage`` (of ``LineageNode``, ``LineageEdge``, ``Branch``)
* :mod:`.validation`: ``ValidationReport``
* :mod:`.apply`: ``ApplyResult``
* :mod:`.retrieval`: ``HistoricalSummary``
* :mod:`.materialize`: ``MaterializeResult`` (of ``ViewRun``)
* :mod:`.online`: ``OnlineResponse`` (and the ``ReadPlan`` it answers)
"""
