"""A kernel websocket for Jupyter servers that sends small messages at once (TCP_NODELAY).

Why: a Jupyter server relays the kernel's messages to the browser over a websocket, and Tornado
leaves Nagle's algorithm on for it.  After a slider moves, the kernel answers with several small
messages: "busy", the slider's echo, the picture, "idle".  The first goes out at once; Nagle holds
the rest until the browser acknowledges the first, and browsers delay that acknowledgement by about
40 ms.  Measured in Chromium (Voilà, a one-bar explorer whose kernel work takes 3 ms): every answer
reached the page about 45 ms after "busy", and a mouse drag painted 29 pictures; with this class,
61 pictures during the same drag.

Use it through the servers' public setting (a server imports this module only then)::

    jupyter lab --ServerApp.kernel_websocket_connection_class=avicviz.kernel_socket.NoDelayConnection
    voila --Voila.kernel_websocket_connection_class=avicviz.kernel_socket.NoDelayConnection

``make lab``, ``avicviz demo``, the Binder image and the browser tests all do (see
:data:`avicviz.servers.NODELAY_CLASS`).
"""

from __future__ import annotations

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection

__all__ = ["NoDelayConnection"]


class NoDelayConnection(ZMQChannelsWebsocketConnection):
    """jupyter_server's default kernel websocket connection, with TCP_NODELAY on its socket
    (Tornado's public ``WebSocketHandler.set_nodelay``)."""

    def connect(self):  # noqa: D102 - the base class documents it
        self.websocket_handler.set_nodelay(True)
        self.log.info("avicviz: kernel websocket sends without delay (TCP_NODELAY)")
        return super().connect()
