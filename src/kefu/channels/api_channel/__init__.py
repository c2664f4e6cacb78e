"""The API channel (`channel_type: "api"`): any system posts customers' messages and phone-call records
with the inbox's token, and kefu posts the replies to the inbox's webhook URL, signed (docs/channels/api.md)."""
