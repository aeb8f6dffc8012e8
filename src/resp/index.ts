export { encodeCommand, encodeSimpleString, encodeError, type CommandArg } from './encode.js';
export { RespDecoder, RespError, RespProtocolError, isRespError, type RespReply, type RespDecoderOptions } from './decode.js';
