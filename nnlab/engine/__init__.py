"""The engine: backpropagation, dropout and batch normalization from scratch in NumPy.

Read it in this order; each module imports only the ones above it, and nothing
here imports the course (labs, plots, exercises, diagnosis) that sits beside it.

1. ``layers``     each layer's ``forward``, with its ``backward`` right beneath it
2. ``losses``     softmax cross-entropy and mean squared error
3. ``models``     ``Sequential`` (layers in a row) and ``mlp`` (the nets the lessons build)
4. ``optim``      ``SGD``: momentum and gradient clipping
5. ``telemetry``  the recorder that reads every layer after every step
6. ``training``   ``train``, ``evaluate`` and the ``History`` they return
7. ``gradcheck``  backprop checked against finite differences
8. ``datasets``   the toy 2-D problems (made, never downloaded)

``_checks`` (argument checking with messages for a learner) and ``progress``
(a text progress bar) are helpers the modules above share.
"""
