"""Each SNMPv3 SnmpTarget's destination and security settings, worked out once and cached.

USM users and target parameters go into pysnmp's local configuration under generated names;
destinations do not (see direct_send.py), they become a `TargetInfo`. Names are counters,
never derived from secrets, so no key can leak through pysnmp's table indices, debug output
or our logs. (SNMPv1/v2c do not go through pysnmp: see community_transport.py.)
"""

from __future__ import annotations

import ipaddress
from itertools import count
from typing import Any

from pysnmp.entity import config
from pysnmp.entity.rfc3413 import config as target_config

from netwatch.snmp.direct_send import TargetInfo
from netwatch.snmp.target import SnmpTarget
from netwatch.snmp.trio_carrier import (
    UDP_IPV4_DOMAIN,
    UDP_IPV6_DOMAIN,
    TrioUdp6Transport,
    TrioUdpTransport,
)

AUTH_PROTOCOLS: dict[str, Any] = {
    "MD5": config.USM_AUTH_HMAC96_MD5,
    "SHA": config.USM_AUTH_HMAC96_SHA,
    "SHA224": config.USM_AUTH_HMAC128_SHA224,
    "SHA256": config.USM_AUTH_HMAC192_SHA256,
    "SHA384": config.USM_AUTH_HMAC256_SHA384,
    "SHA512": config.USM_AUTH_HMAC384_SHA512,
}
# AES192/AES256 with the draft-reeder key extension, as Cisco and most vendors do it
# (net-snmp calls these AES192C/AES256C; its plain AES192/AES256 are the Blumenthal variant).
PRIV_PROTOCOLS: dict[str, Any] = {
    "DES": config.USM_PRIV_CBC56_DES,
    "3DES": config.USM_PRIV_CBC168_3DES,
    "AES": config.USM_PRIV_CFB128_AES,
    "AES192": config.USM_PRIV_CFB192_AES,
    "AES256": config.USM_PRIV_CFB256_AES,
}
SNMPV3_MESSAGE_PROCESSING_MODEL = 3


class TargetConfigError(ValueError):
    """An SnmpTarget that cannot be configured (missing credentials, bad address)."""


class EngineTargets:
    """Targets of one SnmpEngine: security settings in its LCD, destinations cached here."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self._names = count(1)
        self._target_infos: dict[SnmpTarget, TargetInfo] = {}
        self._params_names: dict[tuple[str, str, int], str] = {}
        # pysnmp's own typed values (SnmpAdminString, SnmpSecurityLevel, ...) per params name:
        # its security models look them up in tables keyed by those types.
        self._params: dict[str, tuple[Any, Any, Any, Any]] = {}
        self._transports: dict[tuple[int, ...], TrioUdpTransport] = {}
        self._usm_credentials: dict[str, tuple[object, ...]] = {}

    def accepts(self, target: SnmpTarget) -> bool:
        """False when this engine already knows the target's SNMPv3 user with other keys.

        pysnmp's USM tables are indexed by user name (a security name different from the
        user name is not looked up consistently), so one engine holds one credential set
        per user name.
        """
        if target.version != "3" or target.user is None:
            return True
        known = self._usm_credentials.get(target.user)
        return known is None or known == _usm_credentials(target)

    def info_for(self, target: SnmpTarget) -> TargetInfo:
        info = self._target_infos.get(target)
        if info is None:
            info = self._configure(target)
            self._target_infos[target] = info
        return info

    def _configure(self, target: SnmpTarget) -> TargetInfo:
        domain = self._domain_for(target.address)
        if target.version != "3":
            raise TargetConfigError(f"SNMPv{target.version} does not go through pysnmp")
        security_name, security_level = self._usm_user_for(target)
        model = SNMPV3_MESSAGE_PROCESSING_MODEL
        params_key = (security_name, security_level, model)
        params_name = self._params_names.get(params_key)
        if params_name is None:
            params_name = f"params-{next(self._names)}"
            config.add_target_parameters(
                self._engine, params_name, security_name, security_level, model
            )
            self._params_names[params_key] = params_name
            self._params[params_name] = target_config.get_target_parameters(
                self._engine, params_name
            )
        model_value, security_model, security_name_value, security_level_value = self._params[
            params_name
        ]
        return TargetInfo(
            transport_domain=domain,
            transport_address=self._transports[domain].ADDRESS_TYPE((target.address, target.port)),
            # SNMP-TARGET-MIB counts in hundredths of a second; pysnmp keeps that unit.
            timeout_centiseconds=max(1, round(target.timeout * 100)),
            retry_count=max(0, target.retries),
            message_processing_model=model_value,
            security_model=security_model,
            security_name=security_name_value,
            security_level=security_level_value,
        )

    def _domain_for(self, address: str) -> tuple[int, ...]:
        try:
            version = ipaddress.ip_address(address.split("%", 1)[0]).version
        except ValueError:
            raise TargetConfigError(f"not an IP address: {address!r}") from None
        domain = UDP_IPV6_DOMAIN if version == 6 else UDP_IPV4_DOMAIN
        if domain not in self._transports:
            transport_type = TrioUdp6Transport if version == 6 else TrioUdpTransport
            transport = transport_type().open_client_mode()
            config.add_transport(self._engine, domain, transport)
            self._transports[domain] = transport
        return domain

    def _usm_user_for(self, target: SnmpTarget) -> tuple[str, str]:
        if not target.user:
            raise TargetConfigError("SNMPv3 target without a user")
        auth_protocol = config.USM_AUTH_NONE
        priv_protocol = config.USM_PRIV_NONE
        level = "noAuthNoPriv"
        if target.auth_protocol is not None:
            if not target.auth_key:
                raise TargetConfigError("SNMPv3 auth protocol without an auth key")
            auth_protocol = AUTH_PROTOCOLS[target.auth_protocol]
            level = "authNoPriv"
            if target.priv_protocol is not None:
                if not target.priv_key:
                    raise TargetConfigError("SNMPv3 privacy protocol without a privacy key")
                priv_protocol = PRIV_PROTOCOLS[target.priv_protocol]
                level = "authPriv"
        elif target.priv_protocol is not None:
            raise TargetConfigError("SNMPv3 privacy needs authentication too")
        credentials = _usm_credentials(target)
        known = self._usm_credentials.get(target.user)
        if known is None:
            config.add_v3_user(
                self._engine,
                target.user,
                auth_protocol,
                target.auth_key,
                priv_protocol,
                target.priv_key,
            )
            self._usm_credentials[target.user] = credentials
        elif known != credentials:
            raise TargetConfigError("SNMPv3 user already configured with other keys")
        return target.user, level


def _usm_credentials(target: SnmpTarget) -> tuple[object, ...]:
    return (target.auth_protocol, target.auth_key, target.priv_protocol, target.priv_key)
